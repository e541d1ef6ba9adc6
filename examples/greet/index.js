// An AWS Lambda-style handler: answers HTTP (?name=World) and direct invokes ({"name":"World"}) alike.
export const handler = async (event) => {
  const name = event?.queryStringParameters?.name ?? event?.name ?? 'World';
  return { message: `${process.env.GREETING ?? 'Hello'}, ${name}!` };
};
