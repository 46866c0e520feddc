import { isUser, type User } from './demo.js'

// Per tab (sessionStorage), so two windows of one browser can be two users, and a reload keeps both.
const USER_KEY = 'tidings-user'
const OFFLINE_KEY = 'tidings-offline'

export const savedUser = (): User | undefined => {
  const user = sessionStorage.getItem(USER_KEY)
  return isUser(user) ? user : undefined
}
export const saveUser = (user: User | undefined): void => {
  if (user) sessionStorage.setItem(USER_KEY, user)
  else sessionStorage.removeItem(USER_KEY)
}

/** Whether this tab's offline switch is on: it stays on across a reload, as a visitor expects. */
export const savedOffline = (): boolean => sessionStorage.getItem(OFFLINE_KEY) === '1'
export const saveOffline = (off: boolean): void => {
  if (off) sessionStorage.setItem(OFFLINE_KEY, '1')
  else sessionStorage.removeItem(OFFLINE_KEY)
}
