# An AWS Lambda-style Python handler: answers HTTP (?name=World) and direct invokes ({"name": "World"}) alike.
import logging
import os

from humanize import intcomma

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def handler(event, context):
    event = event or {}
    name = (event.get('queryStringParameters') or {}).get('name') or event.get('name') or 'World'
    print(f'greeting {name}')
    logger.info('request %s', context.aws_request_id)
    return {
        'message': f"{os.environ.get('GREETING', 'Hello')}, {name}!",
        # humanize comes from requirements.txt, installed by the platform at build time.
        'visitors': intcomma(1234567),
    }
