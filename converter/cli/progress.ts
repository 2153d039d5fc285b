import type { ConvertProgress } from "../convert.ts";

const size = (bytes: number) => (bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`);

/** A progress reporter for stderr: a rewritten line on a terminal, a line per 10% otherwise. */
export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): (p: ConvertProgress) => void {
  let lastPercent = -1;
  let lastTime = 0;
  return (p) => {
    const percent = p.total === 0 ? 100 : Math.floor((p.done / p.total) * 100);
    const now = Date.now();
    const line = `[${String(percent).padStart(3)}%] ${p.graph} (${p.dtype}) ${size(p.done)} / ${size(p.total)}`;
    if (stream.isTTY) {
      if (percent !== lastPercent || now - lastTime > 1000) stream.write(`\r${line}\u001b[K${percent === 100 ? "\n" : ""}`);
    } else if (Math.floor(percent / 10) !== Math.floor(lastPercent / 10)) {
      stream.write(`${line}\n`);
    }
    lastPercent = percent;
    lastTime = now;
  };
}
