import * as kysely from 'kysely'

type ErrorClass = new () => Error

const brand: unique symbol = Symbol.for('kysely.AbortedTransactionError')

/**
 * The error for a COMMIT that PostgreSQL completed as a ROLLBACK (an earlier error
 * had aborted the transaction): Kysely's own `AbortedTransactionError`, which
 * Kysely 0.28.19 added. Kysely 0.28.0–0.28.18 lack the export, and a named import
 * of it would stop the plugin from loading there, so they get a local class with
 * the same name, message and brand (the symbol newer Kyselys recognise it by).
 */
export const AbortedTransactionError: ErrorClass =
  (kysely as { readonly AbortedTransactionError?: ErrorClass }).AbortedTransactionError ??
  class AbortedTransactionError extends Error {
    override readonly name = 'AbortedTransactionError'
    readonly [brand] = true

    constructor() {
      super('Transaction was rolled back instead of committed')
    }
  }
