import { createRoot } from 'react-dom/client'
import { App } from './app.js'
import { registerOfflineShell } from './offline-shell.js'
import './styles.css'

createRoot(document.getElementById('root')!).render(<App />)
registerOfflineShell()
