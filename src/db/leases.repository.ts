/*
 * Leases (migrations/0003): a named lock in D1 with an expiry, so that a holder that dies without
 * giving it back blocks the others only until then.
 */

/**
 * Takes the lease when nobody holds it or the holder's time is up: one upsert that overwrites only
 * an expired row, so of two concurrent takers exactly one gets it. True when `holder` has it now.
 */
export async function acquireLease(
	db: D1Database,
	name: string,
	holder: string,
	now: Date,
	ttlMs: number,
): Promise<boolean> {
	const row = await db
		.prepare(
			`INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?3)
			 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			 WHERE leases.expires_at <= ?4
			 RETURNING holder`,
		)
		.bind(name, holder, new Date(now.getTime() + ttlMs).toISOString(), now.toISOString())
		.first<{ holder: string }>();
	return row?.holder === holder;
}

/** Gives the lease back, unless it expired and someone else has taken it since. */
export async function releaseLease(db: D1Database, name: string, holder: string): Promise<void> {
	await db.prepare("DELETE FROM leases WHERE name = ?1 AND holder = ?2").bind(name, holder).run();
}
