/**
 * The admin token lives in sessionStorage: it survives a reload but not the tab, and it is only
 * ever sent as a bearer header — never put in a URL, where logs and history would keep it.
 */
const KEY = 'tollgate.admin-token';

export function loadToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}
