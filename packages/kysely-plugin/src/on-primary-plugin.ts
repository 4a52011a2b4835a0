import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryId,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely'

// Queries tagged for the primary, by the identity of their `queryId`. A WeakSet, so
// the tag adds no key to any node and is gone with the query.
const tagged = new WeakSet<QueryId>()

/** Whether a query was tagged with {@link onPrimary}. */
export function isTaggedForPrimary(queryId: QueryId | undefined): boolean {
  return queryId !== undefined && tagged.has(queryId)
}

class OnPrimaryPlugin implements KyselyPlugin {
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    tagged.add(args.queryId)
    return args.node
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result
  }
}

/**
 * A Kysely plugin that sends one query to the primary, read or not: for a read
 * that must see the very latest data, or a function the classifier cannot know
 * writes. It tags the query by its `queryId`; the query tree is left untouched.
 *
 * @example
 * await db.selectFrom('accounts').selectAll().where('id', '=', id).withPlugin(onPrimary).execute()
 * // select * from "accounts" where "id" = $1   -- on the primary
 */
export const onPrimary: KyselyPlugin = new OnPrimaryPlugin()
