/** Docker clients prefix every path with the API version (`/v1.41/containers/json`); the routes do not. */
export function stripVersion(url: string): string {
  return url.replace(/^\/v\d+\.\d+(?=\/|$)/, '') || '/';
}
