import type { BrowserContext, Page } from 'playwright-core'

/** How long one DOM condition may take before the test fails, ms. */
export const DEADLINE = 15_000

/** One tab of the web chat, driven as a visitor would: through what the page shows. */
export class ChatPage {
  private constructor(
    readonly page: Page,
    readonly user: string,
  ) {}

  /** Opens the chat in a new tab of `context` and signs in as `user` (unless already signed in). */
  static async open(context: BrowserContext, url: string, user: string): Promise<ChatPage> {
    const page = await context.newPage()
    await page.goto(url)
    const chat = new ChatPage(page, user)
    await page.locator('.user-choice, [data-testid=me]').first().waitFor({ timeout: DEADLINE })
    if (await page.locator('.user-choice').count()) await page.getByRole('button', { name: user }).click()
    await page.locator('[data-testid=me]').waitFor({ timeout: DEADLINE })
    return chat
  }

  /** Waits until `fn`, run in the page, returns something truthy; `what` names it in a failure. */
  async until<A>(what: string, fn: (arg: A) => unknown, arg?: A): Promise<void> {
    try {
      await this.page.waitForFunction(fn as (arg: unknown) => unknown, arg, {
        timeout: DEADLINE,
        polling: 50,
      })
    } catch (error) {
      throw new Error(
        `${this.user}: ${what} did not happen within ${DEADLINE} ms: ${(error as Error).message}`,
      )
    }
  }

  connected(state = 'online'): Promise<void> {
    return this.until(
      `connection ${state}`,
      (s) => document.querySelector('[data-testid=connection]')?.getAttribute('data-state') === s,
      state,
    )
  }

  async setOffline(off: boolean): Promise<void> {
    await this.page.getByLabel('offline', { exact: true }).setChecked(off)
  }

  async send(text: string, priority = 'normal'): Promise<void> {
    await this.page.getByLabel('priority').selectOption(priority)
    await this.page.getByLabel('message', { exact: true }).fill(text)
    await this.page.getByLabel('message', { exact: true }).press('Enter')
    await this.until(
      `"${text}" shown`,
      (t) => Array.from(document.querySelectorAll('.message .body')).some((e) => e.textContent === t),
      text,
    )
  }

  /** The conversation as shown: reply line, author, priority, text and markers of each message. */
  shown(): Promise<string[]> {
    return this.page.$$eval('.messages .message', (items) =>
      items.map((li) =>
        [
          li.getAttribute('data-priority'),
          ...Array.from(li.querySelectorAll('.reply-to, .line > *'), (e) => e.textContent),
        ].join(' '),
      ),
    )
  }

  /** Clicks one of a message's actions (reply, pin, edit, delete); they show on hover. */
  async act(text: string, action: string): Promise<void> {
    const item = this.page.locator('.message', { has: this.page.locator('.body', { hasText: text }) })
    await item.hover()
    await item.getByRole('button', { name: action, exact: true }).click()
  }

  async openRoom(room: string): Promise<void> {
    await this.page.locator(`.room[data-room="${room}"]`).click()
    await this.until(`#${room} open`, (r) => document.querySelector(`.chat[data-room="${r}"]`), room)
  }

  /** Waits until every message of this user shows `label` (e.g. "read by bob"). */
  ownStatuses(label: string): Promise<void> {
    return this.until(
      `all own messages "${label}"`,
      (l) => {
        const own = Array.from(document.querySelectorAll('.message.own [data-testid=status]'))
        return own.length > 0 && own.every((s) => s.textContent === l)
      },
      label,
    )
  }

  async screenshot(path: string): Promise<void> {
    await this.page.screenshot({ path, fullPage: true })
  }
}
