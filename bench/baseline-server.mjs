import { createServer } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';

// The HTTP bench's baseline: graphql-yoga with nothing but `{ hello }`, on node:http like
// sharegraph, started as its own process on PORT. Whatever sharegraph costs beyond this is ours:
// auth, limits, access decisions, the database, and the JSON of a real answer.
const yoga = createYoga({
  schema: createSchema({
    typeDefs: 'type Query { hello: String! }',
    resolvers: { Query: { hello: () => 'world' } },
  }),
  graphiql: false,
  landingPage: false,
  logging: false,
});

const server = createServer(yoga);
server.listen(Number(process.env.PORT ?? 4100), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
