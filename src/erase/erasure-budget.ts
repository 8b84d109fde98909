/**
 * How much one erasure call may do. A phone number can be in any row of D1 and any object of the
 * archive, and nothing indexes either by number: the work is cut into bounded steps, and a call
 * that has spent its budget answers a cursor instead of running on toward the Worker's limits
 * (1,000 subrequests and D1 queries per invocation, 30 s of CPU).
 */
export interface ErasureLimits {
	/** Subrequests: each D1 statement, Durable Object call and R2 operation counts one. */
	operations: number;
	/** Uncompressed archive bytes read (decompressing and filtering them is the CPU an erasure costs). */
	archiveBytes: number;
	/** `events` rows one step of the phone-number walk reads. */
	eventChunkRows: number;
	/** `quarantine` rows one step of the phone-number walk reads (a row may hold up to ~1.8 MB). */
	quarantineChunkRows: number;
}

/**
 * A step is checked before it starts and may then overrun by what it finds (a chunk of events
 * whose messages span up to 64 ledgers): 400 leaves that margin under the 1,000 limit.
 */
export const DEFAULT_ERASURE_LIMITS: ErasureLimits = {
	operations: 400,
	archiveBytes: 128 * 1024 * 1024,
	eventChunkRows: 1000,
	quarantineChunkRows: 200,
};

export class ErasureBudget {
	readonly limits: ErasureLimits;
	#operations = 0;
	#bytes = 0;
	#advanced = false;

	constructor(limits: Partial<ErasureLimits> = {}) {
		this.limits = { ...DEFAULT_ERASURE_LIMITS, ...limits };
	}

	/**
	 * Whether a step of about this cost may start. Until the cursor has moved once in this call
	 * every step may: however small the budget, each call gets further than the last.
	 */
	allows(operations: number, bytes = 0): boolean {
		if (!this.#advanced) return true;
		return this.#operations + operations <= this.limits.operations && this.#bytes + bytes <= this.limits.archiveBytes;
	}

	/** The cursor moved: what is behind it is done. */
	advance(): void {
		this.#advanced = true;
	}

	spend(operations: number, bytes = 0): void {
		this.#operations += operations;
		this.#bytes += bytes;
	}
}
