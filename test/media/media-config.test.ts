import { env } from "cloudflare:workers";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { mediaConfigProblems, readMediaConfig } from "../../src/media/media-config";
import { allowedMediaUrl, isSafeTokenUrl, MediaHostsSchema } from "../../src/media/media-hosts";

const hosts = (value: string) => v.parse(MediaHostsSchema, value);

describe("BANDWIDTH_MEDIA_HOSTS", () => {
	it("lets credentials go only to a listed host, exactly, over https", () => {
		const list = hosts("messaging.bandwidth.com");
		const ok = "https://messaging.bandwidth.com/api/v2/users/1/media/m/0/a.png";
		expect(allowedMediaUrl(ok, list)?.href).toBe(ok);
		for (const refused of [
			"http://messaging.bandwidth.com/api/v2/users/1/media/m/0/a.png",
			"https://messaging.bandwidth.com.evil.test/a.png",
			"https://evil.test/messaging.bandwidth.com/a.png",
			"https://user:pass@messaging.bandwidth.com/a.png",
			"https://messaging.bandwidth.com:8443/a.png",
			"https://MESSAGING.bandwidth.com@evil.test/a.png",
			"not a url",
		]) {
			expect(allowedMediaUrl(refused, list), refused).toBeNull();
		}
		// URL normalizes case and the default port.
		expect(allowedMediaUrl("https://Messaging.Bandwidth.com:443/a.png", list)).not.toBeNull();
	});

	it("allows plain http only to a loopback host:port entry", () => {
		expect(allowedMediaUrl("http://127.0.0.1:8790/a.png", hosts("127.0.0.1:8790"))).not.toBeNull();
		expect(allowedMediaUrl("http://127.0.0.1:8791/a.png", hosts("127.0.0.1:8790"))).toBeNull();
		expect(allowedMediaUrl("http://media.internal:8790/a.png", hosts("media.internal:8790"))).toBeNull();
		expect(allowedMediaUrl("https://media.internal:8790/a.png", hosts("media.internal:8790"))).not.toBeNull();
	});

	it("refuses entries with a scheme or a path, by name", () => {
		const result = readMediaConfig({ ...env, BANDWIDTH_MEDIA_HOSTS: "https://messaging.bandwidth.com/api" });
		expect(result).toEqual({ ok: false, message: expect.stringContaining("BANDWIDTH_MEDIA_HOSTS") });
	});
});

describe("the media settings", () => {
	it("send the client secret only to an https token endpoint, or http on loopback", () => {
		expect(isSafeTokenUrl("https://api.bandwidth.com/api/v1/oauth2/token")).toBe(true);
		expect(isSafeTokenUrl("http://127.0.0.1:8790/api/v1/oauth2/token")).toBe(true);
		expect(isSafeTokenUrl("http://api.bandwidth.com/api/v1/oauth2/token")).toBe(false);
		const result = readMediaConfig({ ...env, BANDWIDTH_TOKEN_URL: "http://id.example/token" });
		expect(result).toEqual({ ok: false, message: expect.stringContaining("BANDWIDTH_TOKEN_URL") });
	});

	it("prefer OAuth2 client credentials, fall back to the API user, and copy nothing without either", () => {
		const none = { ...env, BANDWIDTH_CLIENT_ID: "", BANDWIDTH_CLIENT_SECRET: "" };
		expect(readMediaConfig(none)).toMatchObject({ ok: true, value: { credentials: null } });
		const legacy = { ...none, BANDWIDTH_API_USERNAME: "api-user", BANDWIDTH_API_PASSWORD: "pw" };
		expect(readMediaConfig(legacy)).toMatchObject({
			ok: true,
			value: { credentials: { kind: "basic", username: "api-user" } },
		});
		expect(readMediaConfig({ ...legacy, BANDWIDTH_CLIENT_ID: "id", BANDWIDTH_CLIENT_SECRET: "s" })).toMatchObject({
			ok: true,
			value: { credentials: { kind: "oauth", clientId: "id" } },
		});
	});

	it("keep copies as long as events unless MEDIA_RETENTION_DAYS says otherwise", () => {
		expect(readMediaConfig(env)).toMatchObject({ ok: true, value: { retentionDays: 30 } });
		expect(readMediaConfig({ ...env, MEDIA_RETENTION_DAYS: "7" })).toMatchObject({
			ok: true,
			value: { retentionDays: 7 },
		});
		expect(readMediaConfig({ ...env, MEDIA_RETENTION_DAYS: "1" })).toMatchObject({ ok: false });
	});

	it("are reported to /health only while MEDIA is bound", () => {
		const bad = { ...env, MEDIA_MAX_BYTES: "lots" };
		expect(mediaConfigProblems(bad)).toEqual([expect.stringContaining("MEDIA_MAX_BYTES")]);
		expect(mediaConfigProblems({ ...bad, MEDIA: undefined })).toEqual([]);
	});
});
