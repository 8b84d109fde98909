import packageJson from "../package.json";

export const RELAY_VERSION: string = packageJson.version;
export const USER_AGENT = `bandwidth-relay/${RELAY_VERSION}`;
