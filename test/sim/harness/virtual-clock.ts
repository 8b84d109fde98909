/*
 * The virtual clock: `Date` for the whole isolate (the Worker, its Durable Objects and this test
 * share one) reads real time plus an offset that the simulation moves forward in steps. Time still
 * flows between steps, so code that waits on a real timer (a fetch timeout, the media wait) keeps
 * working; the offset lets hours close, retries come due and days be forgotten within seconds.
 *
 * The clock starts far ahead of real time, so no Durable Object alarm ever fires by itself: every
 * alarm is set at a virtual time the runtime will not reach, and the scheduler runs the due ones.
 * Timers (setTimeout) stay real. Production code is not changed for any of this.
 */

const RealDate = Date;

export interface VirtualClock {
	now(): number;
	/** Moves virtual time forward by `ms` (never back). */
	advance(ms: number): void;
	/** Moves virtual time forward to `at` if it is ahead. */
	advanceTo(at: number): void;
	uninstall(): void;
}

let installed: VirtualClock | null = null;

export function installVirtualClock(startAt: number): VirtualClock {
	if (installed !== null) installed.uninstall();
	let offset = startAt - RealDate.now();
	class VirtualDate extends RealDate {
		constructor(...args: unknown[]) {
			if (args.length === 0) super(RealDate.now() + offset);
			else super(...(args as [string]));
		}
		static override now(): number {
			return RealDate.now() + offset;
		}
	}
	(globalThis as { Date: DateConstructor }).Date = VirtualDate as DateConstructor;
	const clock: VirtualClock = {
		now: () => RealDate.now() + offset,
		advance(ms) {
			if (ms > 0) offset += ms;
		},
		advanceTo(at) {
			const now = RealDate.now() + offset;
			if (at > now) offset += at - now;
		},
		uninstall() {
			(globalThis as { Date: DateConstructor }).Date = RealDate;
			installed = null;
		},
	};
	installed = clock;
	return clock;
}

/** Real time, whatever the virtual clock says: for the harness's own waits. */
export const realNow = (): number => RealDate.now();
