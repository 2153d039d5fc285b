/** A response's JSON body, untyped: tests assert its shape. */
export async function readJson(response: Response): Promise<any> {
  return response.json();
}
