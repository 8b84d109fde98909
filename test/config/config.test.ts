import { describe, expect, it } from "vitest";
import {
	configProblems,
	readDeliverabilityConfig,
	readForwardConfig,
	readIngestConfig,
	readRetentionConfig,
} from "../../src/config";
import { TEST_ENV } from "../setup/test-env";

const secretOf = (bytes: number) => `whsec_${btoa("k".repeat(bytes))}`;

describe("FORWARD_SIGNING_SECRET", () => {
	it("accepts whsec_ secrets of 24 bytes and more, and keeps them as given", () => {
		const secrets = `${secretOf(24)} ${secretOf(32)}`;
		const config = readForwardConfig({ FORWARD_SIGNING_SECRET: secrets });
		expect(config.ok && config.value.signingSecrets).toEqual(secrets.split(" "));
		expect(readForwardConfig({ FORWARD_SIGNING_SECRET: TEST_ENV.FORWARD_SIGNING_SECRET }).ok).toBe(true);
	});

	it("refuses, at configuration time, a key atob cannot decode", () => {
		// Matches the whsec_<base64> pattern, yet one base64 character is not a whole byte.
		const config = readForwardConfig({ FORWARD_SIGNING_SECRET: `${secretOf(32)} whsec_a` });
		expect(config).toEqual({ ok: false, message: expect.stringContaining("not valid base64") });
	});

	it("refuses a key shorter than 24 bytes, and says how long it is", () => {
		const config = readForwardConfig({ FORWARD_SIGNING_SECRET: secretOf(16) });
		expect(config).toEqual({ ok: false, message: expect.stringContaining("16 bytes; at least 24") });
	});

	it("never puts the secret in the message", () => {
		const secret = secretOf(10);
		const config = readForwardConfig({ FORWARD_SIGNING_SECRET: secret });
		expect(config.ok).toBe(false);
		expect(config.ok || config.message).not.toContain(secret.slice("whsec_".length));
	});
});

describe("BANDWIDTH_ALLOWED_IPS", () => {
	it("reads addresses and CIDR ranges, IPv4 and IPv6, separated by commas or spaces", () => {
		const config = readIngestConfig({ BANDWIDTH_ALLOWED_IPS: "192.0.2.0/24, 2001:db8::/32 198.51.100.7" });
		expect(config.ok && config.value.allowedIps).toHaveLength(3);
		const unset = readIngestConfig({ BANDWIDTH_ALLOWED_IPS: "" });
		expect(unset.ok && unset.value.allowedIps).toBeNull();
	});

	it("names an entry that is not an address or a range", () => {
		const config = readIngestConfig({ BANDWIDTH_ALLOWED_IPS: "192.0.2.0/24, 192.0.2.300" });
		expect(config).toEqual({ ok: false, message: expect.stringContaining('"192.0.2.300"') });
	});
});

describe("configProblems", () => {
	it("is empty for a valid configuration", () => {
		expect(configProblems({ ...TEST_ENV })).toEqual([]);
	});

	it("lists the message of every concern whose settings are invalid", () => {
		const problems = configProblems({
			...TEST_ENV,
			MAX_BODY_BYTES: "lots",
			FORWARD_SIGNING_SECRET: secretOf(8),
			RETENTION_DAYS: "0",
		});
		expect(problems).toEqual([
			expect.stringContaining("MAX_BODY_BYTES"),
			expect.stringContaining("FORWARD_SIGNING_SECRET"),
			expect.stringContaining("RETENTION_DAYS"),
		]);
	});
});

describe("RETENTION_DAYS", () => {
	it("is at least 2 days: the default retry schedule spans about 28 hours", () => {
		expect(readRetentionConfig({ RETENTION_DAYS: "1" })).toEqual({
			ok: false,
			message: "RETENTION_DAYS must be at least 2",
		});
		expect(readRetentionConfig({ RETENTION_DAYS: "2" }).ok).toBe(true);
	});

	it("must outlast a longer retry schedule by a day, so a dead event is still there to list and replay", () => {
		const week = "86400,86400,86400,86400,86400,86400,86400";
		expect(configProblems({ ...TEST_ENV, RETENTION_DAYS: "5", FORWARD_RETRY_SCHEDULE: week })).toEqual([
			expect.stringMatching(/^RETENTION_DAYS \(5\) must exceed FORWARD_RETRY_SCHEDULE's span \(8\.4 days/),
		]);
		expect(configProblems({ ...TEST_ENV, RETENTION_DAYS: "10", FORWARD_RETRY_SCHEDULE: week })).toEqual([]);
		expect(configProblems({ ...TEST_ENV, RETENTION_DAYS: "3" })).toEqual([]);
	});
});

describe("the deliverability alert settings", () => {
	it("default to a 0.9 rate, 20 receipts and a 0.05 share, and read fractions as given", () => {
		expect(readDeliverabilityConfig({})).toEqual({ ok: true, value: { rate: 0.9, minReceipts: 20, errorShare: 0.05 } });
		const set = {
			DELIVERABILITY_ALERT_RATE: "0.95",
			DELIVERABILITY_ALERT_MIN: "50",
			DELIVERABILITY_ALERT_ERROR_SHARE: "1",
		};
		expect(readDeliverabilityConfig(set)).toEqual({ ok: true, value: { rate: 0.95, minReceipts: 50, errorShare: 1 } });
		expect(readDeliverabilityConfig({ DELIVERABILITY_ALERT_RATE: ".8" })).toMatchObject({
			ok: true,
			value: { rate: 0.8 },
		});
	});

	it("names a rate or share that is not a fraction above 0 and at most 1, and a minimum below 1", () => {
		for (const rate of ["1.5", "0", "90%", "abc", "-0.5"]) {
			expect(configProblems({ ...TEST_ENV, DELIVERABILITY_ALERT_RATE: rate }), rate).toEqual([
				"DELIVERABILITY_ALERT_RATE must be a number above 0 and at most 1, e.g. 0.9",
			]);
		}
		expect(configProblems({ ...TEST_ENV, DELIVERABILITY_ALERT_ERROR_SHARE: "2" })).toEqual([
			"DELIVERABILITY_ALERT_ERROR_SHARE must be a number above 0 and at most 1, e.g. 0.9",
		]);
		expect(configProblems({ ...TEST_ENV, DELIVERABILITY_ALERT_MIN: "0" })).toEqual([
			"DELIVERABILITY_ALERT_MIN must be at least 1",
		]);
	});
});
