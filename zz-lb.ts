import { linkBenchmark } from "./bench/link.ts";
for (let i = 0; i < 3; i++) { const r = await linkBenchmark(45); console.log(r.rows.slice(1).map((row) => row[1]).join(" | ")); }
