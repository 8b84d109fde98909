import { runCronOnce } from "../lib/local-cron.ts";

/*
 * After a run: the deliverability insights of the simulated application (GET /v1/insights). They
 * are counted by the cron, which `wrangler dev` does not run by itself: the relay is asked to run
 * it (GET /__scheduled, served under npm start), twice, since a run of npm start's own minute cron
 * at the same moment may count first and leave the rest to the next.
 */

interface InsightsView {
	totals: {
		sent: number;
		delivered: number;
		failed: number;
		deliveryRate: number | null;
		receivedSms: number;
		receivedMms: number;
		latencyMs: { p50: number | null; p95: number | null };
		errorCodes: Array<{ code: number; name: string | null; count: number; remediation: string | null }>;
	};
}

const HOUR_MS = 3_600_000;

function seconds(ms: number | null): string {
	return ms === null ? "—" : `${(ms / 1000).toFixed(1)} s`;
}

export async function insightsLines(baseUrl: string, adminToken: string, applicationId: string): Promise<string[]> {
	if (!(await runCronOnce(baseUrl))) {
		return ["insights  not counted yet: this relay runs no cron here (npm start runs one every minute)"];
	}
	await runCronOnce(baseUrl);
	try {
		const now = Date.now();
		const query = new URLSearchParams({
			applicationId,
			since: new Date(now - 4 * HOUR_MS).toISOString(),
			until: new Date(now + HOUR_MS).toISOString(),
		});
		const response = await fetch(`${baseUrl}/v1/insights?${query}`, {
			headers: { authorization: `Bearer ${adminToken}` },
			signal: AbortSignal.timeout(5000),
		});
		if (!response.ok) return [`insights  not read (HTTP ${response.status})`];
		const { totals } = (await response.json()) as InsightsView;
		const rate = totals.deliveryRate === null ? "—" : `${(totals.deliveryRate * 100).toFixed(1)} %`;
		return [
			`insights  application ${applicationId}: ${totals.sent} sent · ${totals.delivered} delivered · ${totals.failed} failed · delivery rate ${rate} · latency p50 ${seconds(totals.latencyMs.p50)}, p95 ${seconds(totals.latencyMs.p95)} · received ${totals.receivedSms} SMS, ${totals.receivedMms} MMS`,
			...totals.errorCodes.map(
				(error) => `insights  ${error.code} ${error.name ?? ""} ×${error.count}: ${error.remediation ?? "—"}`,
			),
			`insights  in the console: ${baseUrl}/console/#/insights?applicationId=${applicationId}`,
		];
	} catch (error) {
		return [`insights  not read (${(error as Error).message})`];
	}
}
