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
} as const;
