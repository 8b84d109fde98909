/**
 * The most of a request's path a log line keeps. The caller chooses the path (a 3,000-character
 * one made a 3 KB line), and Workers Logs bill by size; the first 200 characters say which route
 * was meant, and the full length is noted.
 */
export const LOGGED_PATH_MAX_CHARS = 200;

export function loggedPath(path: string): { path: string; pathLength?: number } {
	if (path.length <= LOGGED_PATH_MAX_CHARS) return { path };
	return { path: `${path.slice(0, LOGGED_PATH_MAX_CHARS)}…`, pathLength: path.length };
}
