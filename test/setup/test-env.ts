/** Secrets and settings the Worker sees in tests (in place of .dev.vars). */
export const TEST_ENV = {
	BANDWIDTH_USERNAME: "bandwidth",
	BANDWIDTH_PASSWORD: "test-password",
	ADMIN_TOKEN: "test-admin-token",
	// Two secrets: every test delivery is signed twice, as during a rotation.
	FORWARD_SIGNING_SECRET:
		"whsec_dGVzdC1zaWduaW5nLXNlY3JldC1udW1iZXItb25lLTMyYg== whsec_c2Vjb25kLXRlc3Qtc2lnbmluZy1zZWNyZXQtMzJieXRlcw==",
	ALERT_SIGNING_SECRET: "whsec_YWxlcnQtc2lnbmluZy1zZWNyZXQtb2YtdGhlLXRlc3RzIQ==",
	FORWARD_RETRY_SCHEDULE: "5,300,1800,7200,18000,36000,36000",
	ALLOW_UNAUTHENTICATED: "false",
	// Media copies against the downstream server's stand-in for Bandwidth (vitest.config.ts adds its host).
	BANDWIDTH_CLIENT_ID: "test-media-client",
	BANDWIDTH_CLIENT_SECRET: "test-media-client-secret",
	MEDIA_URL_SECRET: "test-media-url-secret",
	MEDIA_FORWARD_DELAY_MS: "3000",
} as const;
