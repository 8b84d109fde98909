/**
 * Every value, as Promise.all gives them, but a failure is thrown only once every call has
 * settled. A request that answers while calls it started still run leaves them behind: workerd
 * drops an ended request's continuations, and a retried erasure would meet its predecessor's calls
 * still at work in the same Durable Object (fault simulation, seed 27016). The first failure, in
 * the order given, is the one thrown.
 */
export async function settleAll<T>(work: readonly Promise<T>[]): Promise<T[]> {
	const results = await Promise.allSettled(work);
	const values: T[] = [];
	for (const result of results) {
		if (result.status === "rejected") throw result.reason;
		values.push(result.value);
	}
	return values;
}
