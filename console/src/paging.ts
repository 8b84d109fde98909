import { showError } from "./dom";

/**
 * Pages through a list behind a "more" button: the first page now, each next one on a click. The
 * button is disabled while a page loads and hidden after the last; a failure shows in `error` and
 * leaves the button to try again.
 */
export async function pageThrough<TPage extends { nextCursor: string | null }>(
	more: HTMLButtonElement,
	error: HTMLElement,
	fetchPage: (cursor: string | null) => Promise<TPage>,
	show: (page: TPage) => void,
): Promise<void> {
	const load = async (cursor: string | null) => {
		more.disabled = true;
		try {
			const page = await fetchPage(cursor);
			show(page);
			more.hidden = page.nextCursor === null;
			more.onclick = () => void load(page.nextCursor);
		} catch (caught) {
			showError(error, caught);
		} finally {
			more.disabled = false;
		}
	};
	await load(null);
}
