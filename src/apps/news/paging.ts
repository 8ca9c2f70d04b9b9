/**
 * Paging News items (docs/nextcloud-protocol.md "News"): the API returns
 * items newest first (highest id first) and takes `offset`, the lowest id
 * already seen: the next page holds only smaller ids. One more item than
 * the page holds is asked for, so the page knows whether more remain without
 * a further request; the cursor is the lowest id on the page.
 */

/** The largest item id the API can take (a MySQL/PostgreSQL BIGINT fits more; JSON numbers stay exact up to here). */
export const MAX_ITEM_ID = Number.MAX_SAFE_INTEGER

/** `batchSize` for a page of `limit` items. */
export const batchSizeFor = (limit: number): number => limit + 1

/** The cursor of a page that ended with item `lowestId`. */
export const encodeCursor = (lowestId: number): string => String(lowestId)

/** The `offset` a cursor stands for; null when it is not one this server handed out. */
export const decodeCursor = (cursor: string): number | null => {
  if (!/^[1-9]\d{0,15}$/.test(cursor)) return null
  const id = Number(cursor)
  return Number.isSafeInteger(id) && id <= MAX_ITEM_ID ? id : null
}

/**
 * The page out of one answer of `batchSizeFor(limit)` items (newest first):
 * at most `limit` items, and the cursor when the answer had more.
 */
export const pageOf = <A extends { readonly id: number }>(
  answer: ReadonlyArray<A>,
  limit: number
): { readonly items: ReadonlyArray<A>; readonly nextCursor: string | null } => {
  const items = answer.slice(0, limit)
  const last = items[items.length - 1]
  return { items, nextCursor: answer.length > limit && last !== undefined ? encodeCursor(last.id) : null }
}
