import { defineDifferentialSuite } from './suite.js';

defineDifferentialSuite('llama');
