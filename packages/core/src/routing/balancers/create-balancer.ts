import type { Balancer, BalancerFunction, BalancerName } from '../../model/balancer.js'
import { FastestBalancer } from './fastest.js'
import { LeastBusyBalancer } from './least-busy.js'
import { RandomBalancer } from './random.js'
import { RoundRobinBalancer } from './round-robin.js'

/** Makes the balancer a config names, or wraps a user's function. */
export function createBalancer(choice: BalancerName | BalancerFunction): Balancer {
  if (typeof choice === 'function') {
    return {
      pick(candidates) {
        const index = choice(candidates)
        return Number.isInteger(index) && index >= 0 && index < candidates.length ? index : 0
      },
    }
  }
  switch (choice) {
    case 'least-busy':
      return new LeastBusyBalancer()
    case 'round-robin':
      return new RoundRobinBalancer()
    case 'random':
      return new RandomBalancer()
    case 'fastest':
      return new FastestBalancer()
  }
}
