import { defineDifferentialSuite } from './suite.js';

defineDifferentialSuite('gpt2');
