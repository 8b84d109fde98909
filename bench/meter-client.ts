import type { MeterReading } from "../src/meter/meter-reading.ts";
import type { Target } from "./targets.ts";

/** The bench's side of the cost meter: reset before a round, read once the round has drained. */

export async function resetMeter(target: Target): Promise<void> {
	if (target.meter === null) return;
	const response = await fetch(`${target.meter.url}/reset`, { method: "POST", headers: target.meter.headers });
	await response.arrayBuffer();
	if (!response.ok) throw new Error(`resetting ${target.id}'s meter answered ${response.status}`);
}

export async function readMeter(target: Target): Promise<MeterReading | null> {
	if (target.meter === null) return null;
	const response = await fetch(target.meter.url, { headers: target.meter.headers });
	if (!response.ok)
		throw new Error(`reading ${target.id}'s meter answered ${response.status}: ${await response.text()}`);
	return (await response.json()) as MeterReading;
}
