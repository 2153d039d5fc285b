/** The Cache API of the Worker's location (`caches.default`); undefined where the runtime has none. */
export function locationCache(): Cache | undefined {
  return (globalThis as { caches?: { default?: Cache } }).caches?.default;
}
