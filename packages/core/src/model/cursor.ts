/** A cursor class such as `pg-cursor`'s, for streaming. */
export type CursorConstructor = new (text: string, values: unknown[]) => CursorLike

/** The part of `pg-cursor` streaming uses. */
export interface CursorLike {
  read(rowCount: number): Promise<unknown[]>
  close(): Promise<void>
}
