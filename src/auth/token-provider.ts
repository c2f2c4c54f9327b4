// What an API adapter needs from a credential: a bearer token now, and a fresh one once the API said 401.

export interface TokenProvider {
  getToken(): Promise<string>
  /**
   * Fetches a new token, bypassing any cache; the client calls it at most once per call, after a 401
   * UNAUTHENTICATED. Absent when the source cannot be refreshed by us (an access token file).
   */
  refresh?(): Promise<string>
}
