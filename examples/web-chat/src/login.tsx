import { USERS, type User } from './demo.js'

/** Picks who this tab signs in as; the server knows each demo user by the token `demo-<user>`. */
export const Login = ({
  onPick,
  problem,
}: {
  onPick: (user: User) => void
  problem?: string | undefined
}) => (
  <main className="login">
    <h1>Tidings web chat</h1>
    <p>Sign in as one of the demo users. Open a second window and pick another to chat with yourself.</p>
    <div className="users">
      {USERS.map((user) => (
        <button type="button" className="user-choice" key={user} onClick={() => onPick(user)}>
          {user}
        </button>
      ))}
    </div>
    {problem && <p className="problem">{problem}</p>}
  </main>
)
