// Test doubles for code built on @lookout/core: import from "@lookout/core/testing".
export { ScriptedModel, say, callTool, type ScriptItem, type ScriptStep, type ScriptedModelOptions } from './scripted-model.js';
