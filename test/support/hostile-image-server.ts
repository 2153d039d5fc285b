// A hostile image server on loopback, for the edge's guards on `https:` image URLs. Its paths stand for what a
// remote host may do; redirects point at HOST, the public-looking name the tests route to this server.
//   /image                 a small PNG            /redirect/N          N+1 redirects, then /image
//   /relative-redirect     a relative Location    /redirect-loop       redirects to itself
//   /redirect-to-http, -loopback, -private, -metadata, -localhost       one redirect there
//   /missing (404), /broken (500)                 /never-answers       holds the connection, sends nothing
//   /drips                 one byte every 50 ms   /endless             bytes as fast as read, forever
//   /declares-a-gigabyte   Content-Length 1 GiB, then a few bytes
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pngPhoto } from "./crafted-images.ts";

export const HOSTILE_IMAGE_HOST = "images.example.com";

const png = pngPhoto(32, 24);

function route(path: string, response: ServerResponse): void {
  const redirect = (location: string): void => void response.writeHead(302, { location }).end();
  const hops = /^\/redirect\/(\d+)$/.exec(path);
  if (hops)
    return redirect(
      Number(hops[1]) === 0 ? `https://${HOSTILE_IMAGE_HOST}/image` : `https://${HOSTILE_IMAGE_HOST}/redirect/${Number(hops[1]) - 1}`,
    );
  switch (path) {
    case "/image":
      return void response.writeHead(200, { "content-type": "image/png", "content-length": png.length }).end(png);
    case "/relative-redirect":
      return redirect("/image");
    case "/redirect-loop":
      return redirect(`https://${HOSTILE_IMAGE_HOST}/redirect-loop`);
    case "/redirect-to-http":
      return redirect(`http://${HOSTILE_IMAGE_HOST}/image`);
    case "/redirect-to-loopback":
      return redirect("https://127.0.0.1/image");
    case "/redirect-to-private":
      return redirect("https://10.0.0.7/image");
    case "/redirect-to-metadata":
      return redirect("https://169.254.169.254/latest/meta-data/");
    case "/redirect-to-localhost":
      return redirect("https://localhost/image");
    case "/missing":
      return void response.writeHead(404).end("not found");
    case "/broken":
      return void response.writeHead(500).end("oops");
    case "/never-answers":
      return;
    case "/drips": {
      response.writeHead(200, { "content-type": "image/png" });
      const timer = setInterval(() => response.write(Uint8Array.of(0)), 50);
      response.on("close", () => clearInterval(timer));
      return;
    }
    case "/endless": {
      response.writeHead(200, { "content-type": "image/png" });
      const chunk = new Uint8Array(16 * 1024);
      const pump = () => {
        while (!response.destroyed && response.write(chunk));
      };
      response.on("drain", pump);
      pump();
      return;
    }
    case "/declares-a-gigabyte":
      response.writeHead(200, { "content-type": "image/png", "content-length": 1024 ** 3 });
      response.write(png);
      return;
    default:
      response.writeHead(400).end();
  }
}

/** Starts the server on 127.0.0.1; resolves with its origin and a stop function. */
export async function startHostileImageServer(): Promise<{ origin: string; stop(): Promise<void> }> {
  const server = createServer((request, response) => route(request.url ?? "/", response));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
