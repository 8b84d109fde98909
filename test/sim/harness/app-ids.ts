/** The simulation's two Bandwidth applications; the destination "app-a" filters on the first (vitest.config.ts). */
export const APP_A = "aaaaaaaa-1111-4aaa-8aaa-aaaaaaaaaaaa";
export const APP_B = "bbbbbbbb-2222-4bbb-8bbb-bbbbbbbbbbbb";
