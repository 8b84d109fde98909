import { signingSecrets } from "../../../../scripts/lib/dev-vars.ts";
import { TEST_ENV } from "../../../setup/test-env.ts";
import { type PORT_RANGES, relayPorts } from "../../support/ports.ts";
import { type RecordingSink, startRecordingSink } from "../../support/recording-sink.ts";
import { type RelayProcess, type StartRelayOptions, startRelay } from "../../support/relay-process.ts";

export interface RelayAndSink {
	relay: RelayProcess;
	sink: RecordingSink;
}

/**
 * A recording sink that verifies with the test secrets, and `wrangler dev` on the suite's own ports
 * with the options `optionsFor` gives for the sink's URL: what each reliability suite starts with.
 */
export async function startRelayAndSink(
	suite: keyof typeof PORT_RANGES,
	optionsFor: (sinkUrl: string) => Omit<StartRelayOptions, "port" | "inspectorPort">,
): Promise<RelayAndSink> {
	const sink = await startRecordingSink(signingSecrets(TEST_ENV.FORWARD_SIGNING_SECRET));
	try {
		return { relay: await startRelay({ ...(await relayPorts(suite)), ...optionsFor(sink.url) }), sink };
	} catch (error) {
		await sink.close();
		throw error;
	}
}

/** Stops what startRelayAndSink started, whatever of it did start. */
export async function stopRelayAndSink(started: Partial<RelayAndSink>): Promise<void> {
	await started.relay?.stop();
	await started.sink?.close();
}
