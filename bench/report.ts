/** One benchmark's outcome: labelled figures, printed as a two-column table. */
export type BenchmarkResult = { name: string; rows: [label: string, value: string][] };

export function formatResult(result: BenchmarkResult): string {
  const width = Math.max(...result.rows.map(([label]) => label.length));
  return [`## ${result.name}`, ...result.rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`)].join("\n");
}
