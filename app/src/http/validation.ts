/**
 * Request validation: bodies are checked exactly as sent (no type coercion, unknown fields rejected), while
 * path and query strings, which are text by nature, are coerced to the schema's numbers.
 */
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import type { FastifySchemaCompiler } from "fastify";

// ajv-formats is CommonJS with a `default` property; under NodeNext its default import is the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

function createAjv(options: Options): Ajv {
  const ajv = new Ajv({ removeAdditional: false, useDefaults: true, allErrors: false, ...options });
  addFormats(ajv, ["date-time"]);
  return ajv;
}

const strict = createAjv({ coerceTypes: false });
const coercing = createAjv({ coerceTypes: "array" });

/**
 * Ajv coerces text such as "1e309" or "Infinity" to a number that is not finite, then skips its minimum and
 * maximum checks (ajv-validator/ajv#2212), so `limit=1e309` reached DynamoDB as Infinity and was answered 500.
 * Path, query and header parts are flat objects: a value that is not finite fails here, as it does in a body.
 */
function finiteNumbersOnly(validate: ValidateFunction): ValidateFunction {
  const checked = ((data: unknown) => {
    const valid = validate(data);
    checked.errors = validate.errors;
    if (!valid || typeof data !== "object" || data === null) return valid;
    for (const [name, value] of Object.entries(data)) {
      if (typeof value === "number" && !Number.isFinite(value)) {
        checked.errors = [
          {
            instancePath: `/${name}`,
            schemaPath: `#/properties/${name}`,
            keyword: "finite",
            params: {},
            message: "must be a finite number",
          },
        ];
        return false;
      }
    }
    return true;
  }) as ValidateFunction;
  return checked;
}

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  httpPart === "body"
    ? strict.compile(schema as object)
    : finiteNumbersOnly(coercing.compile(schema as object));

/** Fields a client may see in a response but never send: say why instead of "unknown field". */
const READ_ONLY_FIELDS: Record<string, string> = {
  id: "the id comes from the URL (PUT) or is generated (POST)",
  version: "the server maintains it; send If-Match with the ETag instead",
};

/** One clear sentence and the offending field for the first validation error of a request part. */
export function describeValidationError(
  part: string,
  error: ErrorObject,
): { message: string; field: string } {
  const path = error.instancePath.split("/").slice(1).join(".");
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "additionalProperties": {
      const name = String(params.additionalProperty);
      const field = path === "" ? name : `${path}.${name}`;
      const why = part === "body" && path === "" ? READ_ONLY_FIELDS[name] : undefined;
      return { field, message: `${part}.${field} is not allowed${why ? `: ${why}` : " (unknown field)"}` };
    }
    case "required": {
      const name = String(params.missingProperty);
      const field = path === "" ? name : `${path}.${name}`;
      return { field, message: `${part}.${field} is required` };
    }
    case "enum": {
      const allowed = (params.allowedValues as unknown[]).join(", ");
      return { field: path, message: `${part}.${path} must be one of ${allowed}` };
    }
    default: {
      const subject = path === "" ? part : `${part}.${path}`;
      return { field: path === "" ? part : path, message: `${subject} ${error.message ?? "is invalid"}` };
    }
  }
}
