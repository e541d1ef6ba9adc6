// REST adapter of the delete verb: DELETE /api/v1/functions/:name.
import { deleteFunction } from '../functions/delete.js';
import { sendJson } from '../http/errors.js';
import { safeDecode } from '../http/routes.js';
import { NAME, type ApiRoute } from './types.js';
import { whoCalled } from './who.js';

export const deleteRoute: ApiRoute = {
  method: 'DELETE',
  pattern: new RegExp(`^/api/v1/functions/${NAME}$`),
  async handle(call) {
    const result = await deleteFunction(call.context.deps, { name: safeDecode(call.params.name), who: await whoCalled(call) });
    sendJson(call.res, 200, result);
  },
};
