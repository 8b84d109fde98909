import { errorMessage, log } from "../log";
import { within } from "../within";
import type { RaisedAlert } from "./alert-types";

/** The one desk: alerts are rare, and one object sees every raise, so it can aggregate them. */
export const ALERT_DESK_NAME = "alerts";
/** A desk that does not answer by then is logged and left: what raised the alert goes on. */
const RAISE_TIMEOUT_MS = 5_000;

/**
 * Hands an alert to the desk, which sends it when its window allows. Never throws and never
 * holds anything up for long: a failure is logged, and the thing alerted about goes on.
 */
export async function raiseAlert(env: Pick<Env, "ALERT_URL" | "ALERT_DESK">, alert: RaisedAlert): Promise<void> {
	if (!env.ALERT_URL) return;
	try {
		const desk = env.ALERT_DESK.get(env.ALERT_DESK.idFromName(ALERT_DESK_NAME));
		await within(desk.raise(alert), RAISE_TIMEOUT_MS, () => {
			throw new Error(`the alert desk did not answer in ${RAISE_TIMEOUT_MS} ms`);
		});
	} catch (error) {
		log.error("alert_raise_failed", { type: alert.type, key: alert.key, error: errorMessage(error) });
	}
}
