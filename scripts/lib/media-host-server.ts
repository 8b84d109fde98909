import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createMediaHost, type MediaHostCredentials } from "./media-host.ts";

/** The stand-in for Bandwidth's media host as its own HTTP server (`npm start` runs it in-process). */
export async function startMediaHostServer(options: {
	port: number;
	host: string;
	credentials: MediaHostCredentials;
}): Promise<{ url: string; close: () => Promise<void> }> {
	const mediaHost = createMediaHost(options.credentials);
	const server = createServer(async (request, response) => {
		const chunks: Buffer[] = [];
		for await (const chunk of request) chunks.push(chunk as Buffer);
		const url = new URL(request.url ?? "/", `http://${options.host}`);
		const answer = mediaHost.answer(
			request.method ?? "GET",
			url,
			request.headers.authorization ?? "",
			Buffer.concat(chunks).toString("utf8"),
		) ?? { status: 404, headers: { "content-type": "text/plain" }, body: "not a media path\n" };
		if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
		response.writeHead(answer.status, answer.headers);
		response.end(answer.body);
	});
	await new Promise<void>((resolve, reject) => {
		server.once("error", reject);
		server.listen(options.port, options.host, resolve);
	});
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://${options.host}:${port}`,
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}
