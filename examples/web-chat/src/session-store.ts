import { isUser, type User } from './demo.js'

// Per tab (sessionStorage), so two windows of one browser can be two users, and a reload keeps it.
const USER_KEY = 'tidings-user'

export const savedUser = (): User | undefined => {
  const user = sessionStorage.getItem(USER_KEY)
  return isUser(user) ? user : undefined
}
export const saveUser = (user: User | undefined): void => {
  if (user) sessionStorage.setItem(USER_KEY, user)
  else sessionStorage.removeItem(USER_KEY)
}
