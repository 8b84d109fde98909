/*
 * After a run: what each destination's gate saw over its last 15 minutes (GET /v1/destinations),
 * so a newcomer with npm start's two destinations sees the filter split the traffic.
 */

interface DestinationView {
	name: string;
	breaker: string | null;
	paused: boolean | null;
	backlog: number | null;
	recentAttempts: number | null;
	recentFailureRate: number | null;
}

export async function destinationLines(baseUrl: string, adminToken: string): Promise<string[]> {
	try {
		const response = await fetch(`${baseUrl}/v1/destinations`, {
			headers: { authorization: `Bearer ${adminToken}` },
			signal: AbortSignal.timeout(5000),
		});
		if (!response.ok) return [`destinations  not listed (HTTP ${response.status})`];
		const { items } = (await response.json()) as { items: DestinationView[] };
		const width = Math.max(0, ...items.map((item) => item.name.length));
		return items.map((item) => {
			const failed = item.recentFailureRate === null ? "—" : `${Math.round(item.recentFailureRate * 100)} % failed`;
			const state = item.paused ? "paused" : (item.breaker ?? "unknown");
			return `destination  ${item.name.padEnd(width)}  ${item.recentAttempts ?? 0} attempts in 15 min · ${failed} · ${state} · backlog ${item.backlog ?? "—"}`;
		});
	} catch (error) {
		return [`destinations  not listed (${(error as Error).message})`];
	}
}
