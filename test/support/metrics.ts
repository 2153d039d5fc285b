/** One sample of the GPU service's Prometheus metrics (GET /metrics): `name` with its exact `{labels}` if any. */
export async function gpuMetric(gpuUrl: string, name: string, labels = ""): Promise<number> {
  const text = await (await fetch(`${gpuUrl}/metrics`)).text();
  const line = text.split("\n").find((row) => row.startsWith(`${name}${labels} `));
  if (line === undefined) throw new Error(`metric ${name}${labels} not found`);
  return Number(line.slice(line.lastIndexOf(" ") + 1));
}

/** Polls `condition` until it holds; throws after `timeoutMs` (a bound, not an expectation of speed). */
export async function waitFor(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
