import { describe, expect, it } from "vitest";
import { TOKEN_PATH } from "../../scripts/lib/media-host";
import { authorizationFor, type MediaCredentials } from "../../src/media/bandwidth-token";
import { eventIdOfElement } from "../helpers/admin";
import { postCallback } from "../helpers/callback";
import { freshPath, hookUrl, receivedAt, scriptResponses, waitForForwarded } from "../helpers/downstream";
import { inboundMms, mediaPathOf, mediaUrl, waitForSettledMedia } from "../helpers/media";

/** A token endpoint of its own: a fresh downstream path that answers these token responses, then 204. */
async function tokenEndpoint(
	...tokens: Array<{ token: string; expiresIn: number }>
): Promise<MediaCredentials & { path: string }> {
	const path = freshPath();
	await scriptResponses(
		path,
		tokens.map(({ token, expiresIn }) => ({
			status: 200,
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ access_token: token, token_type: "bearer", expires_in: expiresIn }),
		})),
	);
	return { kind: "oauth", clientId: "client", clientSecret: "secret", tokenUrl: hookUrl(path), path };
}

describe("the OAuth2 token", () => {
	it("is fetched once for many copies, with HTTP Basic client authentication and the client_credentials grant", async () => {
		const credentials = await tokenEndpoint({ token: "first", expiresIn: 3600 });
		const concurrent = await Promise.all(Array.from({ length: 5 }, () => authorizationFor(credentials)));
		const later = await authorizationFor(credentials);
		expect(new Set([...concurrent, later])).toEqual(new Set(["Bearer first"]));
		const requests = await receivedAt(credentials.path);
		expect(requests).toHaveLength(1);
		expect(requests[0]).toMatchObject({ method: "POST", body: "grant_type=client_credentials" });
		expect(requests[0]!.headers.authorization).toBe(`Basic ${btoa("client:secret")}`);
	});

	it("is fetched again shortly before it expires", async () => {
		const credentials = await tokenEndpoint({ token: "short", expiresIn: 30 }, { token: "next", expiresIn: 3600 });
		expect(await authorizationFor(credentials)).toBe("Bearer short");
		expect(await authorizationFor(credentials)).toBe("Bearer next");
		expect(await authorizationFor(credentials)).toBe("Bearer next");
		expect(await receivedAt(credentials.path)).toHaveLength(2);
	});

	it("is not cached when the endpoint fails", async () => {
		const path = freshPath();
		await scriptResponses(path, [{ status: 500 }]);
		const credentials: MediaCredentials = { kind: "oauth", clientId: "c", clientSecret: "s", tokenUrl: hookUrl(path) };
		await expect(authorizationFor(credentials)).rejects.toThrow("HTTP 500");
		await scriptResponses(path, [{ status: 200, body: JSON.stringify({ access_token: "ok", expires_in: 60 * 60 }) }]);
		expect(await authorizationFor(credentials)).toBe("Bearer ok");
	});

	it("is what the relay's copies present to the media host, and one token serves several messages' files", async () => {
		const messages = [0, 1].map(() =>
			inboundMms((id) => [mediaUrl(id, 0, "a.png"), mediaUrl(id, 1, "b.png"), mediaUrl(id, 2, "c.png")]),
		);
		await postCallback(messages);
		await Promise.all(messages.map((mms) => waitForSettledMedia(mms.message.id)));
		await Promise.all(messages.map(async (mms) => waitForForwarded(await eventIdOfElement(mms))));
		// How many tokens were fetched meanwhile is not counted here: the token endpoint is shared by
		// the files running beside this one (each runtime caches its own token). That one fetch serves
		// many copies is pinned above, on an endpoint of its own.
		expect((await receivedAt(TOKEN_PATH)).length).toBeGreaterThan(0);
		const asked = await Promise.all(
			messages.flatMap((mms) =>
				[0, 1, 2].map((i) => receivedAt(mediaPathOf(mms.message.id, i, ["a.png", "b.png", "c.png"][i]!))),
			),
		);
		const tokens = new Set(asked.flat().map((request) => request.headers.authorization));
		expect(tokens.size).toBe(1);
		expect([...tokens][0]).toMatch(/^Bearer local-token-/);
	});
});
