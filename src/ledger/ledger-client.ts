import type { MessageLedger } from "./message-ledger.do";

/** The ledger of one Bandwidth message: same id, same object, anywhere in the world. */
export function ledgerFor(env: Pick<Env, "MESSAGE_LEDGER">, messageId: string): DurableObjectStub<MessageLedger> {
	return (env.MESSAGE_LEDGER as DurableObjectNamespace<MessageLedger>).getByName(messageId);
}
