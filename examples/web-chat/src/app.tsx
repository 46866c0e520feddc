import { isTidingsError, type TidingsError } from '@tidings/core'
import { useEffect, useState } from 'react'
import { ChatScreen } from './chat-screen.js'
import { type Session, startSession } from './client.js'
import { ROOMS, type User } from './demo.js'
import { Login } from './login.js'
import { savedUser, saveUser } from './session-store.js'

declare global {
  interface Window {
    /** The signed-in session, for the devtools console (and the browser test). */
    tidings?: Session
  }
}

const explain = (error: unknown): string =>
  `Could not open the chat: ${isTidingsError(error) ? `${error.code}: ${error.message}` : String(error)}`

/** Signs a user in, opens the demo rooms from IndexedDB, and shows the chat once they are loaded. */
export const App = () => {
  const [user, setUser] = useState<User | undefined>(savedUser)
  const [session, setSession] = useState<Session>()
  const [problem, setProblem] = useState<string>()
  const [errors, setErrors] = useState<readonly TidingsError[]>([])

  useEffect(() => {
    if (!user) return
    const next = startSession(user, (error) => setErrors((all) => [...all.slice(-4), error]))
    let live = true
    Promise.all(ROOMS.map((room) => next.client.open(room))).then(
      () => {
        if (!live) return
        window.tidings = next
        setSession(next)
      },
      (error) => {
        if (!live) return
        setProblem(explain(error))
        saveUser(undefined)
        setUser(undefined)
      },
    )
    return () => {
      live = false
      delete window.tidings
      setSession(undefined)
      void next.client.close().catch(() => {})
    }
  }, [user])

  if (!user)
    return (
      <Login
        problem={problem}
        onPick={(picked) => {
          setProblem(undefined)
          saveUser(picked)
          setUser(picked)
        }}
      />
    )
  if (!session) return <p className="loading">Opening {user}'s conversations from this browser…</p>
  return (
    <ChatScreen
      session={session}
      errors={errors}
      onLogout={() => {
        saveUser(undefined)
        setUser(undefined)
      }}
    />
  )
}
