/** A benchmark file's default export: it measures and reports rows through `report`. */
export interface BenchRow {
  /** What was measured, e.g. "time to first released token, parallel guard". */
  name: string;
  value: number;
  unit: string;
  /** The baseline measured in the same run, and what it is. */
  baseline?: { name: string; value: number };
  note?: string;
}

export type Bench = (report: (row: BenchRow) => void) => Promise<void>;

export function formatRow(row: BenchRow): string {
  const value = `${fmt(row.value)} ${row.unit}`;
  const base = row.baseline
    ? `  | baseline ${row.baseline.name}: ${fmt(row.baseline.value)} ${row.unit}  | ratio ${(row.value / row.baseline.value).toFixed(3)}`
    : '';
  return `  ${row.name}: ${value}${base}${row.note ? `  (${row.note})` : ''}`;
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  return abs >= 100 ? n.toFixed(1) : abs >= 1 ? n.toFixed(3) : n.toPrecision(3);
}
