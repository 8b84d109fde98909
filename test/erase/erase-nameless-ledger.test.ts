import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, expect, it } from "vitest";
import { ledgerNameOf } from "../../src/ledger/ledger-client";
import type { MessageLedger } from "../../src/ledger/message-ledger.do";
import { adminFetch } from "../helpers/admin";
import { archivedIds } from "../helpers/archive";
import { clearArchive } from "../helpers/archive-objects";
import { postCallback } from "../helpers/callback";
import { waitForForwarded } from "../helpers/downstream";
import { element } from "../helpers/fixtures";
import { ledgerStub } from "../helpers/ledger";
import { waitForEvents } from "../helpers/storage";

/*
 * A ledger instance the runtime starts from its bare id has no ctx.id.name: an alarm scheduled
 * before the runtime passed names through (2026-03-15), an object reached by idFromString, local
 * dev waking an evicted object for its alarm, and in the fault simulation the scheduler's scan of
 * every object id after an eviction. It must still archive under its bucket's name: the erasure
 * of a message lists only `…/HH/<bucket>-`, and objects written under the hex id stayed in the
 * archive (fault simulation seeds 3116, 3157, 5094, 6151 and 15006).
 */

const DAY_MS = 24 * 60 * 60 * 1000;

beforeEach(clearArchive);

it("a ledger started without its name archives under its bucket's name, where the message's erasure finds it", async () => {
	const event = element("spec2026__message-delivered_sms.object.json");
	const messageId = event.message.id;
	const bucket = ledgerNameOf(env, messageId);
	// The bucket's object is first reached by its bare id: the instance started has no name, and
	// the named calls after reach the same instance.
	const namespace = env.MESSAGE_LEDGER as DurableObjectNamespace<MessageLedger>;
	const bare = namespace.get(namespace.idFromString(namespace.idFromName(bucket).toString()));
	expect(await runInDurableObject(bare, (_instance, state) => state.id.name)).toBeUndefined();

	expect((await postCallback([event])).status).toBe(200);
	const [row] = await waitForEvents(messageId, 1);
	await waitForForwarded(row?.id ?? "");
	const report = await ledgerStub(messageId).maintain(Date.now() + DAY_MS);
	expect(report.ledger).toBe(bucket);
	const keys = (await archivedIds()).filter(([, id]) => id === row?.id).map(([key]) => key);
	expect(keys).toEqual([expect.stringMatching(new RegExp(`/${bucket}-000\\.ndjson\\.gz$`))]);

	const response = await adminFetch(`/v1/messages/${messageId}`, { method: "DELETE" });
	expect(response.status).toBe(200);
	expect(await response.json()).toMatchObject({ archiveEvents: 1, complete: true });
	expect((await archivedIds()).filter(([, id]) => id === row?.id)).toEqual([]);
});
