console.log('no benchmarks yet: they arrive with the dialect')
