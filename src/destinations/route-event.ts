import type { Destination } from "./read-destinations";

/** The fields routing reads: an event's D1 row has them all. */
interface RoutedFields {
	type: string;
	direction: string | null;
	owner: string | null;
	application_id: string | null;
}

function admits(allowed: ReadonlySet<string> | null, value: string | null): boolean {
	return allowed === null || (value !== null && allowed.has(value));
}

/**
 * The destinations an event goes to, decided once, when it is accepted, and stored with it: a
 * change of filters later never re-routes an event already accepted (DESIGN §6).
 */
export function routeEvent(destinations: readonly Destination[], event: RoutedFields): string[] {
	return destinations
		.filter(
			(destination) =>
				admits(destination.types, event.type) &&
				admits(destination.directions, event.direction) &&
				admits(destination.owners, event.owner) &&
				admits(destination.applicationIds, event.application_id),
		)
		.map((destination) => destination.name);
}
