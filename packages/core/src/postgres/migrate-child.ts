// Test helper run as a child process: migrates the schema and prints the versions it applied.
import pg from 'pg';
import { migrate } from './migrations.js';

const pool = new pg.Pool({ connectionString: process.argv[2] });
const applied = await migrate(pool);
process.stdout.write(JSON.stringify(applied));
await pool.end();
