/**
 * `work`'s result if it settles within `ms`, else what `late` gives (or throws). The timer is
 * cleared either way, so a finished invocation holds none open. `work` itself is not cancelled:
 * callers use this where its late completion is harmless.
 */
export async function within<T>(work: Promise<T>, ms: number, late: () => T): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const timeout = new Promise<T>((resolve, reject) => {
		timer = setTimeout(
			() => {
				try {
					resolve(late());
				} catch (error) {
					reject(error);
				}
			},
			Math.max(0, ms),
		);
	});
	try {
		return await Promise.race([work, timeout]);
	} finally {
		if (timer !== undefined) clearTimeout(timer);
	}
}
